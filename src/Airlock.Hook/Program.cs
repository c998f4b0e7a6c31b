using Airlock.ClaudeCode.Hooks;

// airlock-hook: a thin NativeAOT host around HookRunner (the same code `airlock hook` runs in-process).
// Nothing may escape as an unhandled exception: Claude Code would show a crash instead of a reason.
try
{
    var env = new HookEnvironment
    {
        Stdin = Console.OpenStandardInput(),
        Stdout = Console.Out,
        Stderr = Console.Error,
    };
    return await HookRunner.RunAsync(args, env);
}
catch (Exception ex)
{
    await Console.Error.WriteLineAsync($"Airlock: the hook failed ({ex.GetType().Name}); refused (fail closed).");
    return 2;
}
