"""The command line: the `whisperer` entry point, its subcommands, doctor and terminal mode."""
