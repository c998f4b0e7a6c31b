using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Airlock.ClaudeCode.Events;
using Airlock.Inspection;

namespace Airlock.ClaudeCode.Hooks;

/// <summary>Everything a hook process touches, so tests run the real logic in-process.</summary>
public sealed record HookEnvironment
{
    public required Stream Stdin { get; init; }

    public required TextWriter Stdout { get; init; }

    public required TextWriter Stderr { get; init; }

    public Func<string, string?> GetEnvironment { get; init; } = Environment.GetEnvironmentVariable;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Creates the secret scanner (built-in rules plus the policy's organization packs by default).</summary>
    public Func<HookState, HookPolicy, ITextScanner> CreateScanner { get; init; } = static (state, policy) => new HookScanner(state.Directory, policy.RulePacks);
}

/// <summary>
/// <c>airlock-hook</c>: the command Claude Code runs for its hooks, and the helpers around it.
/// <list type="bullet">
/// <item><c>airlock-hook [--gateway URL]</c> reads one hook event from stdin, answers on stdout, reports the event.</item>
/// <item><c>airlock-hook api-key [--gateway URL]</c> prints a short-lived key (the <c>apiKeyHelper</c>).</item>
/// <item><c>airlock-hook login --gateway URL</c> stores the developer's key (read from stdin) in <c>~/.airlock/credentials.json</c>.</item>
/// <item><c>airlock-hook flush</c> sends queued events now.</item>
/// </list>
/// It never throws to Claude Code: every failure becomes a clear message and an exit code that follows the
/// policy's failure mode (exit 2 blocks PreToolUse and UserPromptSubmit; exit 0 lets things go on).
/// </summary>
public static class HookRunner
{
    /// <summary>Largest stdin accepted (Claude Code tool inputs can be large; a Write of a big file is several MB).</summary>
    public const int MaxInputBytes = 32 * 1024 * 1024;

    /// <summary>How old a cached policy may get before the hook asks the gateway again.</summary>
    public static readonly TimeSpan PolicyMaxAge = TimeSpan.FromMinutes(5);

    /// <summary>Time allowed for a policy fetch (then the cached or built-in policy is used).</summary>
    public static readonly TimeSpan PolicyFetchTimeout = TimeSpan.FromMilliseconds(800);

    /// <summary>Time allowed for delivering events (then they wait in the queue for the next hook call).</summary>
    public static readonly TimeSpan SendTimeout = TimeSpan.FromMilliseconds(800);

    /// <summary>Events worth a record in the trail. PreToolUse is reported only when it denied (PostToolUse reports the rest).</summary>
    private static readonly HashSet<string> ReportedEvents = new(StringComparer.Ordinal)
    {
        "PreToolUse", "PostToolUse", "PostToolUseFailure", "UserPromptSubmit", "SessionStart", "SessionEnd", "Stop", "SubagentStop",
    };

    public static async Task<int> RunAsync(string[] args, HookEnvironment env, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(env);
        var options = HookArguments.Parse(args);
        if (options.Problem is { } problem)
        {
            await env.Stderr.WriteLineAsync($"airlock-hook: {problem}").ConfigureAwait(false);
            await env.Stderr.WriteLineAsync(HookArguments.Usage).ConfigureAwait(false);
            return 64;
        }
        var state = options.StateDirectory is { } dir ? new HookState(dir) : HookState.FromEnvironment(env.GetEnvironment);
        try
        {
            return options.Verb switch
            {
                "api-key" => await ApiKeyAsync(options, state, env, cancellationToken).ConfigureAwait(false),
                "login" => await LoginAsync(options, state, env, cancellationToken).ConfigureAwait(false),
                "flush" => await FlushVerbAsync(options, state, env, cancellationToken).ConfigureAwait(false),
                "send" => await SendVerbAsync(options, state, env, cancellationToken).ConfigureAwait(false),
                "refresh" => await RefreshVerbAsync(options, state, env, cancellationToken).ConfigureAwait(false),
                "help" => await HelpAsync(env).ConfigureAwait(false),
                _ => await HookInProcessAsync(options, state, env, cancellationToken).ConfigureAwait(false),
            };
        }
        catch (HookException ex)
        {
            await env.Stderr.WriteLineAsync($"airlock-hook: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    /// <summary>
    /// The decision binary's entry (<c>airlock-hook</c>): only the hook verb runs here, with no HTTP client in the image;
    /// the network work goes to the sender at <paramref name="senderPath"/> (started detached), and the other verbs
    /// (api-key, login, flush) are the sender's: this process becomes it (exec), so settings that name
    /// <c>airlock-hook api-key</c> keep working.
    /// </summary>
    public static async Task<int> RunDecisionAsync(string[] args, HookEnvironment env, string senderPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(env);
        var options = HookArguments.Parse(args);
        if (options.Problem is { } problem)
        {
            await env.Stderr.WriteLineAsync($"airlock-hook: {problem}").ConfigureAwait(false);
            await env.Stderr.WriteLineAsync(HookArguments.Usage).ConfigureAwait(false);
            return 64;
        }
        if (options.Verb != "hook")
        {
            ProcessSpawner.Exec(senderPath, [senderPath, .. args]);
            await env.Stderr.WriteLineAsync($"airlock-hook: cannot start {senderPath} for '{options.Verb}' (install it next to airlock-hook)").ConfigureAwait(false);
            return 1;
        }
        var state = options.StateDirectory is { } dir ? new HookState(dir) : HookState.FromEnvironment(env.GetEnvironment);
        var credential = state.ReadCredential(env.GetEnvironment, options.Gateway);
        var network = credential is null ? null : new DetachedSenderNetwork(senderPath, state, options.Gateway);
        return await HookAsync(options, state, env, network, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<int> HookInProcessAsync(HookArguments options, HookState state, HookEnvironment env, CancellationToken cancellationToken)
    {
        var credential = state.ReadCredential(env.GetEnvironment, options.Gateway);
        using var network = credential is null ? null : new DirectHookNetwork(credential, state, env.Time);
        return await HookAsync(options, state, env, network, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The detached sender's work: refreshes a stale policy and delivers the queue, one sender at a time. After letting
    /// go of the lock it looks at the queue once more: a hook that queued an event while this sender held the lock
    /// started no sender of its own, so its event is taken here.
    /// </summary>
    private static async Task<int> SendVerbAsync(HookArguments options, HookState state, HookEnvironment env, CancellationToken cancellationToken)
    {
        var credential = state.ReadCredential(env.GetEnvironment, options.Gateway);
        if (credential is null)
        {
            return 1;
        }
        using var network = new DirectHookNetwork(credential, state, env.Time);
        using var client = new GatewayClient(credential, SendTimeout);
        var queue = new EventSpool(state.QueueDirectory);
        for (var round = 0; round < 100; round++)
        {
            int status;
            using (var held = SenderLock.TryTake(state))
            {
                if (held is null)
                {
                    return 0;
                }
                LoadCachedPolicy(state, out var fetchedAt);
                if (fetchedAt is null || env.Time.GetUtcNow() - fetchedAt > PolicyMaxAge)
                {
                    await network.RefreshPolicyAsync(cacheMissing: fetchedAt is null, cancellationToken).ConfigureAwait(false);
                }
                (_, status) = await FlushAsync(client, state, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            }
            if (status is < 200 or >= 300 || queue.Count == 0)
            {
                return 0;
            }
        }
        return 0;
    }

    private static async Task<int> RefreshVerbAsync(HookArguments options, HookState state, HookEnvironment env, CancellationToken cancellationToken)
    {
        var credential = state.ReadCredential(env.GetEnvironment, options.Gateway);
        if (credential is null)
        {
            return 1;
        }
        using var network = new DirectHookNetwork(credential, state, env.Time);
        return await network.RefreshPolicyAsync(cacheMissing: true, cancellationToken).ConfigureAwait(false) is null ? 1 : 0;
    }

    private static async Task<int> HelpAsync(HookEnvironment env)
    {
        await env.Stdout.WriteLineAsync(HookArguments.Usage).ConfigureAwait(false);
        return 0;
    }

    /// <summary>One hook call: read, decide, answer, report. The answer is written before any network call.</summary>
    private static async Task<int> HookAsync(HookArguments options, HookState state, HookEnvironment env, IHookNetwork? network, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var policy = LoadCachedPolicy(state, out var fetchedAt) ?? HookPolicy.BuiltIn;

        var (bytes, tooLarge) = ReadInput(env.Stdin);
        HookInput? input = null;
        string? problem;
        if (tooLarge)
        {
            problem = $"hook input is larger than {MaxInputBytes / (1024 * 1024)} MB";
        }
        else
        {
            input = HookInput.TryParse(bytes, out problem);
        }
        if (input is null)
        {
            // Unknown event shape: exit 2 blocks where blocking is possible (PreToolUse, UserPromptSubmit) and
            // is only shown elsewhere. Fail open: a note on stderr, exit 0.
            if (policy.FailClosed)
            {
                await env.Stderr.WriteLineAsync($"Airlock: {problem}; refused because the policy fails closed.").ConfigureAwait(false);
                return 2;
            }
            await env.Stderr.WriteLineAsync($"Airlock: {problem}; ignored (the policy fails open).").ConfigureAwait(false);
            return 0;
        }

        // A stale policy is refreshed before deciding (in-process), or right after the answer (the decision binary,
        // which waits only when there is no cached policy at all): the gateway is the source of truth for the deny list.
        var now = env.Time.GetUtcNow();
        var policyStale = fetchedAt is null || now - fetchedAt > PolicyMaxAge;
        if (network is not null && NeedsDecision(input) && policyStale)
        {
            if (await network.RefreshPolicyAsync(cacheMissing: fetchedAt is null, cancellationToken).ConfigureAwait(false) is { } fresh)
            {
                policy = fresh;
                policyStale = false;
            }
        }

        var decider = new HookDecider(policy, () => env.CreateScanner(state, policy), env.GetEnvironment("HOME") ?? env.GetEnvironment("USERPROFILE"));
        var decision = decider.Decide(input);
        await WriteAnswerAsync(input.EventName, decision, env.Stdout).ConfigureAwait(false);
        await env.Stdout.FlushAsync(cancellationToken).ConfigureAwait(false);

        var queued = false;
        if (ReportedEvents.Contains(input.EventName) && (input.EventName != "PreToolUse" || decision.Verdict != HookVerdict.None))
        {
            var toolEvent = BuildEvent(input, decision, decider, policy, now);
            TrySave(() => new EventSpool(state.QueueDirectory).Enqueue(toolEvent));
            queued = true;
        }
        if (network is not null && (queued || policyStale))
        {
            await network.AfterAnswerAsync(queued, policyStale, cancellationToken).ConfigureAwait(false);
        }
        if (options.Verbose)
        {
            await env.Stderr.WriteLineAsync($"airlock-hook: {input.EventName} {decision.Verdict} in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0.0} ms").ConfigureAwait(false);
        }
        return 0;
    }

    private static bool NeedsDecision(HookInput input) => input.EventName is "PreToolUse" or "UserPromptSubmit";

    /// <summary>
    /// PreToolUse deny: <c>hookSpecificOutput.permissionDecision = "deny"</c> with the reason (shown to the
    /// model as the tool error and to the developer). UserPromptSubmit block: <c>decision = "block"</c> with
    /// the reason. No opinion: nothing on stdout, exit 0, so Claude Code's own permission flow goes on.
    /// </summary>
    internal static async Task WriteAnswerAsync(string eventName, HookDecision decision, TextWriter stdout)
    {
        if (decision.Verdict == HookVerdict.None)
        {
            return;
        }
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (eventName == "PreToolUse")
            {
                writer.WriteStartObject("hookSpecificOutput");
                writer.WriteString("hookEventName", "PreToolUse");
                writer.WriteString("permissionDecision", "deny");
                writer.WriteString("permissionDecisionReason", decision.Reason);
                writer.WriteEndObject();
            }
            else
            {
                writer.WriteString("decision", "block");
                writer.WriteString("reason", decision.Reason);
            }
            writer.WriteEndObject();
        }
        await stdout.WriteLineAsync(Encoding.UTF8.GetString(buffer.ToArray())).ConfigureAwait(false);
    }

    private static ToolEvent BuildEvent(HookInput input, HookDecision decision, HookDecider decider, HookPolicy policy, DateTimeOffset now)
    {
        var paths = new List<string>(decision.Paths);
        if (paths.Count == 0 && (input.Input("file_path") ?? input.Input("notebook_path")) is { } path)
        {
            paths.Add(path);
        }
        string? command = null;
        if (input.Input("command") is { } raw)
        {
            var cut = raw.Length > ToolEvent.MaxCommandLength ? raw[..ToolEvent.MaxCommandLength] + "…[cut]" : raw;
            try
            {
                command = decider.Redact(cut);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Without a working scanner the command could hold a secret: leave it out.
                command = "[not recorded: redaction failed]";
            }
        }
        return new ToolEvent
        {
            Id = Guid.CreateVersion7(now).ToString("N"),
            Time = now,
            HookEvent = input.EventName,
            SessionId = input.SessionId,
            PromptId = input.PromptId,
            Cwd = input.Cwd,
            ToolName = input.ToolName,
            ToolUseId = input.ToolUseId,
            FilePaths = paths,
            Command = command,
            Decision = decision.Verdict switch
            {
                HookVerdict.Deny => "deny",
                HookVerdict.Block => "block",
                _ => input.EventName is "PreToolUse" or "UserPromptSubmit" ? "allow" : null,
            },
            Reason = decision.Reason,
            RuleIds = decision.RuleIds,
            DurationMs = input.DurationMs,
            PermissionMode = input.PermissionMode,
            Detail = input.Detail,
            PromptLength = input.Prompt?.Length,
            PolicyVersion = policy.Version,
        };
    }

    /// <summary>Sends queued events (oldest first) in batches until the queue is empty, a send fails, or time runs out.</summary>
    internal static async Task<(int Sent, int Status)> FlushAsync(GatewayClient client, HookState state, TimeSpan budget, CancellationToken cancellationToken)
    {
        var queue = new EventSpool(state.QueueDirectory);
        var deadline = Stopwatch.GetTimestamp() + (long)(budget.TotalSeconds * Stopwatch.Frequency);
        var sent = 0;
        var status = 0;
        while (true)
        {
            var batch = queue.Peek();
            if (batch.Count == 0)
            {
                return (sent, status == 0 ? 200 : status);
            }
            var left = TimeSpan.FromSeconds((deadline - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency);
            if (left <= TimeSpan.FromMilliseconds(20))
            {
                return (sent, status);
            }
            status = await client.SendEventsAsync(batch.Select(b => b.Json).ToList(), left, cancellationToken).ConfigureAwait(false);
            if (status is >= 200 and < 300)
            {
                EventSpool.Remove(batch.Select(b => b.Path));
                sent += batch.Count;
                continue;
            }
            return (sent, status);
        }
    }

    private static async Task<int> FlushVerbAsync(HookArguments options, HookState state, HookEnvironment env, CancellationToken cancellationToken)
    {
        var credential = state.ReadCredential(env.GetEnvironment, options.Gateway)
            ?? throw new HookException("not logged in: run 'airlock-hook login --gateway URL' (the key is read from stdin)");
        using var client = new GatewayClient(credential, TimeSpan.FromSeconds(5));
        var (sent, status) = await FlushAsync(client, state, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        var waiting = new EventSpool(state.QueueDirectory).Count;
        await env.Stdout.WriteLineAsync($"sent {sent} event(s); {waiting} waiting{(waiting > 0 ? $" (last status {status})" : "")}").ConfigureAwait(false);
        return waiting == 0 ? 0 : 1;
    }

    /// <summary>apiKeyHelper: prints a short-lived key, reusing the cached one while it has over two minutes left.</summary>
    private static async Task<int> ApiKeyAsync(HookArguments options, HookState state, HookEnvironment env, CancellationToken cancellationToken)
    {
        var credential = state.ReadCredential(env.GetEnvironment, options.Gateway)
            ?? throw new HookException("not logged in: run 'airlock-hook login --gateway URL' (the key is read from stdin), or ask your administrator for an Airlock key");
        var now = env.Time.GetUtcNow();
        if (ReadSessionKey(state, credential.Gateway) is { } cached && cached.ExpiresAt - now > TimeSpan.FromMinutes(2))
        {
            await env.Stdout.WriteLineAsync(cached.Key).ConfigureAwait(false);
            return 0;
        }
        using var client = new GatewayClient(credential, TimeSpan.FromSeconds(5));
        var fresh = await client.ExchangeKeyAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        TrySave(() => state.WritePrivate(state.SessionKeyPath, SessionKeyJson(credential.Gateway, fresh)));
        await env.Stdout.WriteLineAsync(fresh.Key).ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> LoginAsync(HookArguments options, HookState state, HookEnvironment env, CancellationToken cancellationToken)
    {
        if (options.Gateway is null || !Uri.TryCreate(options.Gateway, UriKind.Absolute, out var url) || (url.Scheme != "https" && url.Scheme != "http"))
        {
            throw new HookException("login needs --gateway https://your-gateway");
        }
        using var reader = new StreamReader(env.Stdin, Encoding.UTF8);
        var key = (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false))?.Trim();
        if (string.IsNullOrEmpty(key) || !key.StartsWith("alk_", StringComparison.Ordinal))
        {
            throw new HookException("login reads your Airlock key (alk_…) from stdin, e.g. 'airlock-hook login --gateway URL < key.txt'");
        }
        var credential = new HookCredential(options.Gateway.TrimEnd('/'), key);
        using var client = new GatewayClient(credential, TimeSpan.FromSeconds(5));
        // Prove the key works before storing it: one exchange, which also warms the apiKeyHelper cache.
        var session = await client.ExchangeKeyAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        state.WriteCredential(credential);
        TrySave(() => state.WritePrivate(state.SessionKeyPath, SessionKeyJson(credential.Gateway, session)));
        await env.Stdout.WriteLineAsync($"logged in to {credential.Gateway}; credentials in {state.CredentialsPath} (owner-only)").ConfigureAwait(false);
        return 0;
    }

    private static byte[] SessionKeyJson(string gateway, SessionKey key)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("gateway", gateway);
            writer.WriteString("key", key.Key);
            writer.WriteString("expires_at", key.ExpiresAt);
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static SessionKey? ReadSessionKey(HookState state, string gateway)
    {
        try
        {
            if (!File.Exists(state.SessionKeyPath))
            {
                return null;
            }
            using var document = JsonDocument.Parse(File.ReadAllBytes(state.SessionKeyPath));
            var root = document.RootElement;
            if (root.TryGetProperty("gateway", out var g) && g.ValueEquals(gateway)
                && root.TryGetProperty("key", out var k) && k.ValueKind == JsonValueKind.String
                && root.TryGetProperty("expires_at", out var e) && e.TryGetDateTimeOffset(out var at))
            {
                return new SessionKey(k.GetString()!, at);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
        }
        return null;
    }

    internal static HookPolicy? LoadCachedPolicy(HookState state, out DateTimeOffset? fetchedAt)
    {
        fetchedAt = null;
        try
        {
            return File.Exists(state.PolicyPath) ? HookPolicy.TryParse(File.ReadAllBytes(state.PolicyPath), out fetchedAt) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Reads stdin synchronously: it is a pipe Claude Code has already filled, and an async read would start the
    /// thread pool, a few milliseconds of a budget that is twenty. Beyond the limit the rest is drained unread.
    /// </summary>
    private static (byte[] Bytes, bool TooLarge) ReadInput(Stream stdin)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        while (true)
        {
            var read = stdin.Read(chunk);
            if (read == 0)
            {
                return (buffer.ToArray(), false);
            }
            if (buffer.Length + read > MaxInputBytes)
            {
                // Drain without keeping, so Claude Code's write does not fail with a broken pipe.
                while (stdin.Read(chunk) > 0)
                {
                }
                return ([], true);
            }
            buffer.Write(chunk, 0, read);
        }
    }

    /// <summary>Local state is best effort: a read-only home must not turn into a failed hook.</summary>
    internal static void TrySave(Action save)
    {
        try
        {
            save();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>The hook's command line.</summary>
internal sealed record HookArguments
{
    public const string Usage = """
        usage: airlock-hook [--gateway URL] [--state-dir DIR] [--verbose]     handle one Claude Code hook event (JSON on stdin)
               airlock-hook api-key [--gateway URL]                          print a short-lived gateway key (apiKeyHelper)
               airlock-hook login --gateway URL < key.txt                    store your Airlock key for the hook and apiKeyHelper
               airlock-hook flush                                            send queued events now
               airlock-hook-send send|refresh [--state-dir DIR]              (started by the hook) deliver the queue / fetch the policy
        """;

    public string Verb { get; init; } = "hook";

    public string? Gateway { get; init; }

    public string? StateDirectory { get; init; }

    public bool Verbose { get; init; }

    public string? Problem { get; init; }

    public static HookArguments Parse(string[] args)
    {
        var result = new HookArguments();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            switch (arg)
            {
                case "api-key" or "login" or "flush" or "send" or "refresh" or "help" or "hook" when i == 0:
                    result = result with { Verb = arg };
                    break;
                case "--help" or "-h":
                    result = result with { Verb = "help" };
                    break;
                case "--gateway" when i + 1 < args.Length:
                    result = result with { Gateway = args[++i] };
                    break;
                case "--state-dir" when i + 1 < args.Length:
                    result = result with { StateDirectory = args[++i] };
                    break;
                case "--verbose":
                    result = result with { Verbose = true };
                    break;
                default:
                    return result with { Problem = $"unknown argument '{arg}'" };
            }
        }
        return result;
    }
}
