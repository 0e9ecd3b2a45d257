# nectar-testbot: the market_making controllers package.
