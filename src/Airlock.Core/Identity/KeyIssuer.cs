namespace Airlock.Core.Identity;

/// <summary>Issues keys: generates, stores the digest, returns the key once. Used by the CLI, first run and the admin API.</summary>
public sealed class KeyIssuer(IKeyStore store, TimeProvider time)
{
    /// <summary>Creates and stores a key; the returned key string is never stored and cannot be shown again.</summary>
    public async Task<(string Key, KeyRecord Record)> IssueAsync(string user, string? team, KeyRole role, TimeSpan? expiresIn,
        string? description = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(user);
        var (key, id) = ApiKeys.Generate();
        var now = time.GetUtcNow();
        var record = new KeyRecord
        {
            Id = id,
            Hash = ApiKeys.Hash(key),
            User = user.Trim(),
            Team = string.IsNullOrWhiteSpace(team) ? null : team.Trim(),
            Role = role,
            CreatedAt = now,
            ExpiresAt = expiresIn is { } span ? now + span : null,
            Description = description,
        };
        await store.CreateKeyAsync(record, cancellationToken).ConfigureAwait(false);
        return (key, record);
    }
}
