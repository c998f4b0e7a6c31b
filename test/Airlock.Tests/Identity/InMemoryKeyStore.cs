using System.Collections.Concurrent;
using Airlock.Core.Identity;

namespace Airlock.Tests.Identity;

/// <summary>A key store in memory, for authenticator tests that need no database.</summary>
internal sealed class InMemoryKeyStore : IKeyStore
{
    private readonly ConcurrentDictionary<string, KeyRecord> _keys = new(StringComparer.Ordinal);

    public int Lookups { get; private set; }

    public Task CreateKeyAsync(KeyRecord key, CancellationToken cancellationToken = default)
    {
        if (!_keys.TryAdd(key.Id, key))
        {
            throw new InvalidOperationException("duplicate key id");
        }
        return Task.CompletedTask;
    }

    public Task<KeyRecord?> FindKeyAsync(string id, CancellationToken cancellationToken = default)
    {
        Lookups++;
        return Task.FromResult(_keys.GetValueOrDefault(id));
    }

    public Task<IReadOnlyList<KeyRecord>> ListKeysAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<KeyRecord>>([.. _keys.Values.OrderByDescending(k => k.CreatedAt)]);

    public Task<bool> RevokeKeyAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        if (_keys.TryGetValue(id, out var key) && key.RevokedAt is null)
        {
            _keys[id] = key with { RevokedAt = at };
            return Task.FromResult(true);
        }
        return Task.FromResult(false);
    }
}
