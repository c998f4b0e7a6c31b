using System.CommandLine;
using Airlock.Cli.Commands;

// Thin host: parse the command line, call the libraries. Every verb takes --config and has --help.
var root = new RootCommand("Airlock: the gateway that lets Claude Code reach models without leaking code, secrets or personal data.");
root.Options.Add(CommonOptions.Config);
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(KeysCommand.Create());
root.Subcommands.Add(AuditCommand.Create());
root.Subcommands.Add(SubjectCommand.Create());
root.Subcommands.Add(ScanCommand.Create());
root.Subcommands.Add(ClaudeCodeCommand.Create());
root.Subcommands.Add(HookCommand.Create());
root.Subcommands.Add(DoctorCommand.Create());
root.Subcommands.Add(AwsCommand.Create());
root.Subcommands.Add(PostureCommand.Create());
// SIGTERM and Ctrl+C are left to the command: 'serve' drains in-flight requests and the audit queue (bounded by
// audit.shutdown_timeout) through its host's console lifetime. System.CommandLine's own handling would end the
// process 2 s after the signal (exit 143), losing queued audit records on every graceful stop.
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    // A mistyped command line is a usage error, exit 2. System.CommandLine's own code is 1, which 'scan' and 'aws lint'
    // use for "findings" and 'posture' for "a check failed": a CI step would read a typo as a result.
    foreach (var error in parse.Errors)
    {
        await Console.Error.WriteLineAsync(error.Message);
    }
    await Console.Error.WriteLineAsync("Add --help to the command for its usage.");
    return 2;
}
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
