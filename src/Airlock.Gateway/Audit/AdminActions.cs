using System.Globalization;
using Airlock.Core.Audit;
using Airlock.Gateway.Admin;

namespace Airlock.Gateway.Audit;

/// <summary>
/// Admin records (<see cref="AuditKind.Admin"/>) of key changes made with the CLI and of a period in which the audit
/// store failed and records were spooled, chained with every other record. They follow the admin-record convention
/// of <see cref="AdminRecords"/>: <c>operation</c> and <c>tool.tool_name</c> name the action, <c>tool.command</c> its
/// parameters; <c>door</c> says where it came from (<c>cli</c>, <c>gateway</c>), <c>key_id</c>, <c>user</c> and
/// <c>team</c> what key it was about, <c>user_agent</c> who did it. Never a key value or any other secret.
/// </summary>
public static class AdminActions
{
    /// <summary>Operation of a key creation.</summary>
    public const string KeyCreate = "keys.create";

    /// <summary>Operation of a key revocation (the admin API's name for the same action).</summary>
    public const string KeyRevoke = "keys.revoke";

    /// <summary>Operation of the record that closes a period in which the store failed and records were spooled.</summary>
    public const string StoreGap = "audit.store_gap";

    /// <summary>Who runs this process, as an admin record's actor: <c>TOOL (os user NAME on HOST)</c>.</summary>
    public static string LocalActor(string tool) =>
        $"{tool} (os user {Environment.UserName} on {Environment.MachineName})";

    /// <summary>A key was created (its id, owner, team and role; the key itself is shown once and never stored).</summary>
    public static AuditRecord KeyCreated(string keyId, string user, string? team, string role, DateTimeOffset? expiresAt, DateTimeOffset time, string actor) =>
        Cli(time, KeyCreate, actor, "role=" + role + (expiresAt is { } e ? " expires=" + Utc(e) : "")) with { KeyId = keyId, User = user, Team = team };

    /// <summary>A key was revoked.</summary>
    public static AuditRecord KeyRevoked(string keyId, string? user, string? team, DateTimeOffset time, string actor) =>
        Cli(time, KeyRevoke, actor, "key_id=" + keyId) with { KeyId = keyId, User = user, Team = team };

    /// <summary>
    /// The store failed from <paramref name="since"/> until <paramref name="until"/> and <paramref name="spooled"/>
    /// records were kept in the spool meanwhile (they precede this record in the chain). <c>latency_ms</c> is the
    /// length of the gap.
    /// </summary>
    public static AuditRecord StoreGapRecord(DateTimeOffset since, DateTimeOffset until, long spooled) => new()
    {
        Kind = AuditKind.Admin,
        RequestId = "audit_gap_" + Guid.CreateVersion7(until).ToString("N"),
        Time = until,
        Door = "gateway",
        Operation = StoreGap,
        Outcome = AuditOutcome.Ok,
        ErrorType = "audit_store_unavailable",
        LatencyMs = (until - since).TotalMilliseconds,
        Detail = AdminRecords.Detail(string.Create(CultureInfo.InvariantCulture,
            $"spooled={spooled} from={Utc(since)} to={Utc(until)} reason=store_unavailable")),
    };

    private static AuditRecord Cli(DateTimeOffset time, string operation, string actor, string parameters) => new()
    {
        Kind = AuditKind.Admin,
        RequestId = Guid.CreateVersion7(time).ToString("N"),
        Time = time,
        Door = "cli",
        Operation = operation,
        Outcome = AuditOutcome.Ok,
        UserAgent = actor,
        Detail = AdminRecords.Detail(parameters),
    };

    private static string Utc(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
}
