# nectar-testbot: the directional_trading controllers package.
