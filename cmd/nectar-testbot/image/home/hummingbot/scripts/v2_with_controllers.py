# nectar-testbot: stands in for Hummingbot's loader of V2 controllers; only its presence matters.
