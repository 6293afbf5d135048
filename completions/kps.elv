
set edit:completion:arg-completer[kps] = { |@words|
    var index = (count $words)
    set index = (- $index 1)

    put (env _CLAP_IFS="\n" _CLAP_COMPLETE_INDEX=(to-string $index) KPS_COMPLETE="elvish" kps -- $@words) | to-lines
}

