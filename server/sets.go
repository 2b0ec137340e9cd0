package server

// setCommands returns the sets command family (not yet implemented).
func setCommands() []*command { return nil }

// setSyntax documents the family's arguments for COMMAND DOCS (see docs.go).
var setSyntax = map[string]string{}
