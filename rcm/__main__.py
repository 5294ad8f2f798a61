from rcm.script import main

main()
