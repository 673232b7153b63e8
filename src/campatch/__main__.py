from campatch.cli.main import main

main()
