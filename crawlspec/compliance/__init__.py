"""The periodic compliance refresh the Research API terms require: `refresh` (the command's work),
`download` (reading the validation download) and `status` (what `crawlspec status` says about it)."""
