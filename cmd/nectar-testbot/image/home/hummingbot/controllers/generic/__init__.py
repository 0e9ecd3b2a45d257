# nectar-testbot: the generic controllers package.
