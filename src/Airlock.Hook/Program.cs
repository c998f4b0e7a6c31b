using Airlock.ClaudeCode.Hooks;

// airlock-hook: a thin NativeAOT host around HookRunner's decision path (the same code `airlock hook` runs
// in-process). It has no HTTP client: the gateway calls run in airlock-hook-send, installed next to it (or at
// AIRLOCK_HOOK_SENDER). Nothing may escape as an unhandled exception: Claude Code would show a crash instead of a reason.
try
{
    var env = new HookEnvironment
    {
        Stdin = Console.OpenStandardInput(),
        Stdout = Console.Out,
        Stderr = Console.Error,
    };
    var sender = Environment.GetEnvironmentVariable("AIRLOCK_HOOK_SENDER") is { Length: > 0 } explicitSender
        ? explicitSender
        : Path.Combine(AppContext.BaseDirectory, "airlock-hook-send");
    return await HookRunner.RunDecisionAsync(args, env, sender);
}
catch (Exception ex)
{
    await Console.Error.WriteLineAsync($"Airlock: the hook failed ({ex.GetType().Name}); refused (fail closed).");
    return 2;
}
