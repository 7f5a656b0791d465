"""DRS emulator laid out like a moto service: models, responses, urls, exceptions."""
