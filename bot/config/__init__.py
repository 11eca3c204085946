"""Configuration: whisperer.toml and the environment read once, validated key by key."""
