using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Airlock.Core.Audit.Capture;

/// <summary>
/// The per-period data keys: one random 256-bit key per UTC day, created on first use, stored only wrapped by the
/// master key (<see cref="IKeyWrapper"/>), and kept unwrapped in memory only while the process runs. Destroying a
/// period's wrapped key (retention) makes everything sealed under it unreadable, wherever copies of the blobs are.
/// </summary>
public sealed class DataKeyRing(IAuditContentStore store, IKeyWrapper wrapper, TimeProvider time) : IDisposable
{
    private readonly ConcurrentDictionary<string, byte[]> _keys = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _create = new(1, 1);

    /// <summary>The key that seals content of <paramref name="period"/>, created (and stored wrapped) if there is none.</summary>
    public async Task<byte[]> GetSealingKeyAsync(string period, CancellationToken cancellationToken = default)
    {
        if (_keys.TryGetValue(period, out var cached))
        {
            return cached;
        }
        await _create.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_keys.TryGetValue(period, out cached))
            {
                return cached;
            }
            if (await OpenStoredAsync(period, cancellationToken).ConfigureAwait(false) is { } existing)
            {
                return existing;
            }
            var fresh = RandomNumberGenerator.GetBytes(32);
            var wrapped = await wrapper.WrapAsync(fresh, Context(period), cancellationToken).ConfigureAwait(false);
            var stored = await store.AddDataKeyAsync(new WrappedDataKey(period, wrapper.KeyId, wrapped, time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
            // Another replica may have stored its key first: use the stored one, so the period has exactly one key.
            var key = stored.Wrapped.AsSpan().SequenceEqual(wrapped) ? fresh : await UnwrapAsync(stored, cancellationToken).ConfigureAwait(false);
            _keys[period] = key;
            return key;
        }
        finally
        {
            _create.Release();
        }
    }

    /// <summary>The key that opens content of <paramref name="period"/>, or null when it was destroyed.</summary>
    public async Task<byte[]?> GetOpeningKeyAsync(string period, CancellationToken cancellationToken = default) =>
        _keys.TryGetValue(period, out var cached) ? cached : await OpenStoredAsync(period, cancellationToken).ConfigureAwait(false);

    /// <summary>Forgets unwrapped keys of periods before <paramref name="period"/> (after they were destroyed in the store).</summary>
    public void Forget(string period)
    {
        foreach (var key in _keys.Keys.Where(k => string.CompareOrdinal(k, period) < 0).ToList())
        {
            if (_keys.TryRemove(key, out var bytes))
            {
                CryptographicOperations.ZeroMemory(bytes);
            }
        }
    }

    private async Task<byte[]?> OpenStoredAsync(string period, CancellationToken cancellationToken)
    {
        if (await store.FindDataKeyAsync(period, cancellationToken).ConfigureAwait(false) is not { } stored)
        {
            return null;
        }
        var key = await UnwrapAsync(stored, cancellationToken).ConfigureAwait(false);
        _keys[period] = key;
        return key;
    }

    private async Task<byte[]> UnwrapAsync(WrappedDataKey stored, CancellationToken cancellationToken)
    {
        if (!string.Equals(stored.MasterKeyId, wrapper.KeyId, StringComparison.Ordinal))
        {
            throw new CryptographicException($"the data key of {stored.Period} was wrapped by master key {stored.MasterKeyId}, not the configured {wrapper.KeyId}");
        }
        return await wrapper.UnwrapAsync(stored.Wrapped, Context(stored.Period), cancellationToken).ConfigureAwait(false);
    }

    private static string Context(string period) => "period=" + period;

    /// <summary>Wipes the unwrapped keys held in memory.</summary>
    public void Dispose()
    {
        Forget("9999");
        _create.Dispose();
    }
}
