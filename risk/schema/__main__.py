from risk.schema import write

write()
