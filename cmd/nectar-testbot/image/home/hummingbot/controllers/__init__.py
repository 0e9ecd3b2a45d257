# nectar-testbot: the controllers package.
