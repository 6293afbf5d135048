complete --keep-order --exclusive --command kps --arguments "(KPS_COMPLETE=fish kps -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
