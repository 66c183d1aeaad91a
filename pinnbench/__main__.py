from pinnbench.cli import main

main()
