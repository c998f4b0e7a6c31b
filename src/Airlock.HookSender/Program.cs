using Airlock.ClaudeCode.Hooks;

// airlock-hook-send: the network half of the hook (HookRunner's send, refresh, api-key, login and flush verbs).
// airlock-hook starts it detached after answering Claude Code; nothing may escape as an unhandled exception.
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
    await Console.Error.WriteLineAsync($"airlock-hook-send: failed ({ex.GetType().Name}).");
    return 1;
}
