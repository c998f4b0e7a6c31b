namespace Airlock.ClaudeCode.Hooks;

/// <summary>
/// How a hook call talks to the gateway. The decision binary (<c>airlock-hook</c>) has no HTTP client at all: it
/// hands the work to a detached sender (<see cref="DetachedSenderNetwork"/>), so its image stays small and its
/// start-up fast. <c>airlock hook</c> and the sender itself call the gateway in-process (<see cref="DirectHookNetwork"/>).
/// </summary>
public interface IHookNetwork
{
    /// <summary>Called before deciding when the cached policy is missing or stale; may return a fresh policy (already cached).</summary>
    Task<HookPolicy?> RefreshPolicyAsync(bool cacheMissing, CancellationToken cancellationToken);

    /// <summary>Called after the answer is written: deliver the queue (<paramref name="queued"/>) and refresh a stale policy.</summary>
    Task AfterAnswerAsync(bool queued, bool policyStale, CancellationToken cancellationToken);
}

/// <summary>The gateway called in-process with <see cref="GatewayClient"/> (the <c>airlock hook</c> verb and the sender).</summary>
internal sealed class DirectHookNetwork(HookCredential credential, HookState state, TimeProvider time) : IHookNetwork, IDisposable
{
    private readonly GatewayClient _client = new(credential, HookRunner.SendTimeout);

    public async Task<HookPolicy?> RefreshPolicyAsync(bool cacheMissing, CancellationToken cancellationToken)
    {
        if (await _client.GetPolicyAsync(HookRunner.PolicyFetchTimeout, cancellationToken).ConfigureAwait(false) is not { } fresh)
        {
            return null;
        }
        var now = time.GetUtcNow();
        HookRunner.TrySave(() => state.WritePrivate(state.PolicyPath, fresh.ToJson(now)));
        return fresh;
    }

    public async Task AfterAnswerAsync(bool queued, bool policyStale, CancellationToken cancellationToken)
    {
        if (queued)
        {
            await HookRunner.FlushAsync(_client, state, HookRunner.SendTimeout, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Dispose() => _client.Dispose();
}

/// <summary>
/// The decision binary's side: the network work runs in <c>airlock-hook-send</c>, started detached (own session,
/// stdio on /dev/null, so Claude Code never waits for it) and not waited for. Only a first call with no cached
/// policy at all waits for it, within the policy fetch budget.
/// </summary>
public sealed class DetachedSenderNetwork(string senderPath, HookState state, string? gateway) : IHookNetwork
{
    public Task<HookPolicy?> RefreshPolicyAsync(bool cacheMissing, CancellationToken cancellationToken)
    {
        if (!cacheMissing)
        {
            // Stale but present: decide with it; the sender started after the answer refreshes it for the next call.
            return Task.FromResult<HookPolicy?>(null);
        }
        var pid = ProcessSpawner.SpawnDetached(senderPath, Arguments("refresh"));
        if (pid <= 0 || !ProcessSpawner.WaitForExit(pid, HookRunner.PolicyFetchTimeout))
        {
            return Task.FromResult<HookPolicy?>(null);
        }
        return Task.FromResult(HookRunner.LoadCachedPolicy(state, out _));
    }

    public Task AfterAnswerAsync(bool queued, bool policyStale, CancellationToken cancellationToken)
    {
        if ((queued || policyStale) && !SenderLock.IsHeld(state))
        {
            ProcessSpawner.SpawnDetached(senderPath, Arguments("send"));
        }
        return Task.CompletedTask;
    }

    private string[] Arguments(string verb) => gateway is null
        ? [senderPath, verb, "--state-dir", state.Directory]
        : [senderPath, verb, "--state-dir", state.Directory, "--gateway", gateway];
}

/// <summary>
/// One sender at a time per state folder: an exclusive advisory lock (flock) on <c>sender.lock</c>, released by the
/// kernel when the sender exits, so a crashed sender never leaves a stale lock.
/// </summary>
public static class SenderLock
{
    public static string PathOf(HookState state) => Path.Combine(state.Directory, "sender.lock");

    /// <summary>Takes the lock; null when another sender holds it.</summary>
    public static FileStream? TryTake(HookState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        try
        {
            state.EnsureDirectory();
            return new FileStream(PathOf(state), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>True when a sender runs now (it re-reads the queue before it lets go, so nothing queued is stranded).</summary>
    public static bool IsHeld(HookState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!File.Exists(PathOf(state)))
        {
            return false;
        }
        using var probe = TryTake(state);
        return probe is null;
    }
}
