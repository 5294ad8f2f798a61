"""The market-stability simulator: repeated rounds of the compute-futures market, clearing with
`market`'s own winner determination and pricing, trading with `market.book`'s rules."""
