using System.Globalization;
using Airlock.Core.Audit;

namespace Airlock.Gateway.Audit;

/// <summary>
/// Audit records of administrative actions (<see cref="AuditKind.Admin"/>), chained with every other record. Their
/// <c>door</c> says where the action came from (<c>cli</c>, <c>gateway</c>), <c>operation</c> what it was, <c>key_id</c>,
/// <c>user</c> and <c>team</c> what it was about, <c>user_agent</c> who did it; <c>error_type</c> carries the details
/// of a gateway event. Never a key value or any other secret.
/// </summary>
public static class AdminRecords
{
    /// <summary>Operation of a key creation.</summary>
    public const string KeyCreate = "key_create";

    /// <summary>Operation of a key revocation.</summary>
    public const string KeyRevoke = "key_revoke";

    /// <summary>Operation of the record that closes a period in which the store failed and records were spooled.</summary>
    public const string StoreGap = "audit_store_gap";

    /// <summary>Who runs this process, as an admin record's actor: <c>airlock-cli (os user NAME on HOST)</c>.</summary>
    public static string LocalActor(string tool) =>
        $"{tool} (os user {Environment.UserName} on {Environment.MachineName})";

    /// <summary>A key was created (its id, owner, team and role; the key itself is shown once and never stored).</summary>
    public static AuditRecord KeyCreated(string keyId, string user, string? team, string role, DateTimeOffset? expiresAt, DateTimeOffset time, string actor) =>
        Admin(time, KeyCreate, actor) with
        {
            KeyId = keyId,
            User = user,
            Team = team,
            ErrorType = "role=" + role + (expiresAt is { } e ? ";expires=" + e.UtcDateTime.ToString("O", CultureInfo.InvariantCulture) : ""),
        };

    /// <summary>A key was revoked.</summary>
    public static AuditRecord KeyRevoked(string keyId, string? user, string? team, DateTimeOffset time, string actor) =>
        Admin(time, KeyRevoke, actor) with { KeyId = keyId, User = user, Team = team };

    /// <summary>
    /// The store failed from <paramref name="since"/> until <paramref name="until"/> and <paramref name="spooled"/>
    /// records were kept in the spool meanwhile (they precede this record in the chain). <c>latency_ms</c> is the
    /// length of the gap.
    /// </summary>
    public static AuditRecord StoreGapRecord(DateTimeOffset since, DateTimeOffset until, long spooled) =>
        Admin(since, StoreGap, "airlock gateway") with
        {
            Door = "gateway",
            LatencyMs = (until - since).TotalMilliseconds,
            ErrorType = string.Create(CultureInfo.InvariantCulture,
                $"audit_store_unavailable;since={since.UtcDateTime:O};until={until.UtcDateTime:O};spooled={spooled}"),
        };

    private static AuditRecord Admin(DateTimeOffset time, string operation, string actor) => new()
    {
        Kind = AuditKind.Admin,
        RequestId = Guid.CreateVersion7(time).ToString("N"),
        Time = time,
        Door = "cli",
        Operation = operation,
        Outcome = AuditOutcome.Ok,
        UserAgent = actor,
    };
}
