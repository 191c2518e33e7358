from lulea.placement.main import main

main()
