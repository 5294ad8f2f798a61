from market.schema import write

write()
