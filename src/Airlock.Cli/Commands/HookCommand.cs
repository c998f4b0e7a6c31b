using System.CommandLine;
using Airlock.ClaudeCode.Hooks;

namespace Airlock.Cli.Commands;

/// <summary>
/// <c>airlock hook …</c>: the same hook as <c>airlock-hook</c> (one <see cref="HookRunner"/>), run in-process.
/// Fleets name the NativeAOT <c>airlock-hook</c> in their settings because it starts in milliseconds; this
/// verb is for machines that only have the <c>airlock</c> executable, and for trying the hook by hand.
/// </summary>
internal static class HookCommand
{
    public static Command Create()
    {
        var arguments = new Argument<string[]>("arguments")
        {
            Description = "airlock-hook arguments: [api-key|login|flush] [--gateway URL] [--state-dir DIR] [--verbose]",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("hook", "Handle one Claude Code hook event from stdin (the in-process twin of airlock-hook)") { arguments };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            var args = (parse.GetValue(arguments) ?? []).Concat(parse.UnmatchedTokens).ToArray();
            try
            {
                return await HookRunner.RunAsync(args, new HookEnvironment
                {
                    Stdin = Console.OpenStandardInput(),
                    Stdout = Console.Out,
                    Stderr = Console.Error,
                }, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                await Console.Error.WriteLineAsync($"Airlock: the hook failed ({ex.GetType().Name}); refused (fail closed).");
                return 2;
            }
        });
        return command;
    }
}
