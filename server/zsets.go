package server

// zsetCommands returns the zsets command family (not yet implemented).
func zsetCommands() []*command { return nil }

// zsetSyntax documents the family's arguments for COMMAND DOCS (see docs.go).
var zsetSyntax = map[string]string{}
