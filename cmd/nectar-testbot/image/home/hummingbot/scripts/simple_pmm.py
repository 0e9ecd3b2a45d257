# nectar-testbot: stands in for a V2 script shipped in the image; only its presence matters.
