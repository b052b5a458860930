"""Qt-free image core: photos, reading and writing, develop operations, recipes."""
