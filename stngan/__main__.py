from stngan.cli import main

main()
