from rcm.cli import main

main()
