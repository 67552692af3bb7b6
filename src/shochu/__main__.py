from shochu.cli import main

main()
