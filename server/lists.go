package server

// listCommands returns the lists command family (not yet implemented).
func listCommands() []*command { return nil }

// listSyntax documents the family's arguments for COMMAND DOCS (see docs.go).
var listSyntax = map[string]string{}
