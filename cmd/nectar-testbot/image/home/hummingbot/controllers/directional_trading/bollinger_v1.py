# nectar-testbot: stands in for a built-in controller; only its presence matters.
