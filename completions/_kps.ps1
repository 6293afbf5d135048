
Register-ArgumentCompleter -Native -CommandName kps -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $prev = $env:KPS_COMPLETE;
    $env:KPS_COMPLETE = "powershell";

    $args = $commandAst.Extent.Text
    $args = $args.Substring(0, [math]::Min($cursorPosition, $args.Length));
    if ($wordToComplete -eq "") {
        $args += " ''";
    }

    $results = Invoke-Expression @"
& kps -- $args
"@;
    if ($null -eq $prev) {
        Remove-Item Env:\KPS_COMPLETE;
    } else {
        $env:KPS_COMPLETE = $prev;
    }
    $results | ForEach-Object {
        $split = $_.Split("`t");
        $cmd = $split[0];

        if ($split.Length -eq 2) {
            $help = $split[1];
        }
        else {
            $help = $split[0];
        }

        [System.Management.Automation.CompletionResult]::new($cmd, $cmd, 'ParameterValue', $help)
    }
};
        
