namespace Airlock.Core.Identity;

/// <summary>What a key may do. Developers call models; auditors read the trail; admins manage keys.</summary>
public enum KeyRole
{
    /// <summary>Calls the model endpoints and sends tool events.</summary>
    Developer,

    /// <summary>Reads the audit trail; cannot change anything.</summary>
    Auditor,

    /// <summary>Manages keys and configuration.</summary>
    Admin,
}

/// <summary>A stored key: its public id, the SHA-256 of the key, and who it belongs to. Never the key itself.</summary>
public sealed record KeyRecord
{
    /// <summary>Public key id (12 base62 characters, part of the key).</summary>
    public required string Id { get; init; }

    /// <summary>SHA-256 digest of the full key.</summary>
    public required byte[] Hash { get; init; }

    /// <summary>The developer (or service) the key was issued to.</summary>
    public required string User { get; init; }

    /// <summary>Team, used by policy (budgets, inspection actions, capture).</summary>
    public string? Team { get; init; }

    /// <summary>What the key may do.</summary>
    public KeyRole Role { get; init; } = KeyRole.Developer;

    /// <summary>When the key was issued.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the key stops working, if ever.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>When the key was revoked, if it was.</summary>
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>Free text: why the key exists.</summary>
    public string? Description { get; init; }
}

/// <summary>Persistence of keys. Implementations: SQLite (embedded), PostgreSQL (shared).</summary>
public interface IKeyStore
{
    /// <summary>Stores a new key record.</summary>
    Task CreateKeyAsync(KeyRecord key, CancellationToken cancellationToken = default);

    /// <summary>Finds a key by its public id.</summary>
    Task<KeyRecord?> FindKeyAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>All keys, newest first.</summary>
    Task<IReadOnlyList<KeyRecord>> ListKeysAsync(CancellationToken cancellationToken = default);

    /// <summary>Marks a key revoked; false when no such key exists or it was already revoked.</summary>
    Task<bool> RevokeKeyAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default);
}
