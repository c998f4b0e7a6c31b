using System.CommandLine;
using System.Text.Json;
using Airlock.Core.Configuration;
using Airlock.Core.Identity;
using Airlock.Gateway.Audit;

namespace Airlock.Cli.Commands;

/// <summary><c>airlock keys create|list|revoke</c>.</summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var keys = new Command("keys", "Manage developer keys (stored as SHA-256 digests; a key is shown only when created).");
        keys.Subcommands.Add(CreateCommand());
        keys.Subcommands.Add(ListCommand());
        keys.Subcommands.Add(RevokeCommand());
        return keys;
    }

    private static Command CreateCommand()
    {
        var user = new Option<string>("--user") { Description = "Who the key is for", Required = true };
        var team = new Option<string>("--team") { Description = "Team (used by policy)" };
        var expires = new Option<string>("--expires") { Description = "Lifetime, e.g. 90d, 12h (default: never)" };
        var role = new Option<string>("--role") { Description = "developer (default), auditor or admin", DefaultValueFactory = _ => "developer" };
        role.AcceptOnlyFromAmong("developer", "auditor", "admin");
        var command = new Command("create", "Create a key and print it once") { user, team, expires, role, CommonOptions.Json };
        command.SetAction((parse, cancellationToken) => CommonOptions.RunAsync(async () =>
        {
            TimeSpan? lifetime = null;
            if (parse.GetValue(expires) is { } text)
            {
                if (!Durations.TryParse(text, out var span))
                {
                    await Console.Error.WriteLineAsync($"--expires: '{text}' is not a duration (use e.g. 90d, 12h, 30m)");
                    return 2;
                }
                lifetime = span;
            }
            var config = CommonOptions.Load(parse);
            using var store = await AuditStores.OpenSqliteAsync(config, cancellationToken);
            var (key, record) = await new KeyIssuer(store, TimeProvider.System).IssueAsync(
                parse.GetValue(user)!, parse.GetValue(team), Enum.Parse<KeyRole>(parse.GetValue(role)!, ignoreCase: true), lifetime,
                cancellationToken: cancellationToken);
            await RecordAsync(config, AdminActions.KeyCreated(record.Id, record.User, record.Team, record.Role.ToString().ToLowerInvariant(),
                record.ExpiresAt, record.CreatedAt, AdminActions.LocalActor("airlock keys create")), cancellationToken);
            if (parse.GetValue(CommonOptions.Json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    id = record.Id,
                    key,
                    user = record.User,
                    team = record.Team,
                    role = record.Role.ToString().ToLowerInvariant(),
                    created_at = record.CreatedAt,
                    expires_at = record.ExpiresAt,
                }));
            }
            else
            {
                Console.WriteLine($"Key {record.Id} for {record.User}{(record.Team is null ? "" : $" (team {record.Team})")}, " +
                    $"{(record.ExpiresAt is { } e ? $"expires {e:yyyy-MM-dd HH:mm}Z" : "no expiry")}.");
                Console.WriteLine("Shown once; Airlock stores only its hash:");
                Console.WriteLine(key);
            }
            return 0;
        }));
        return command;
    }

    private static Command ListCommand()
    {
        var command = new Command("list", "List keys (ids and owners, never the keys)") { CommonOptions.Json };
        command.SetAction((parse, cancellationToken) => CommonOptions.RunAsync(async () =>
        {
            var config = CommonOptions.Load(parse);
            using var store = await AuditStores.OpenSqliteAsync(config, cancellationToken);
            var keys = await store.ListKeysAsync(cancellationToken);
            var now = DateTimeOffset.UtcNow;
            if (parse.GetValue(CommonOptions.Json))
            {
                Console.WriteLine(JsonSerializer.Serialize(keys.Select(k => new
                {
                    id = k.Id,
                    user = k.User,
                    team = k.Team,
                    role = k.Role.ToString().ToLowerInvariant(),
                    created_at = k.CreatedAt,
                    expires_at = k.ExpiresAt,
                    revoked_at = k.RevokedAt,
                    status = Status(k, now),
                })));
                return 0;
            }
            var table = new TableWriter("ID", "USER", "TEAM", "ROLE", "CREATED", "EXPIRES", "STATUS");
            foreach (var k in keys)
            {
                table.Add(k.Id, k.User, k.Team, k.Role.ToString().ToLowerInvariant(), k.CreatedAt.ToString("yyyy-MM-dd HH:mm"),
                    k.ExpiresAt?.ToString("yyyy-MM-dd HH:mm"), Status(k, now));
            }
            table.Write(Console.Out);
            return 0;
        }));
        return command;
    }

    private static Command RevokeCommand()
    {
        var id = new Argument<string>("id") { Description = "Key id (as shown by keys list)" };
        var command = new Command("revoke", "Revoke a key; takes effect on its next request") { id };
        command.SetAction((parse, cancellationToken) => CommonOptions.RunAsync(async () =>
        {
            var config = CommonOptions.Load(parse);
            using var store = await AuditStores.OpenSqliteAsync(config, cancellationToken);
            var keyId = parse.GetValue(id)!;
            var now = DateTimeOffset.UtcNow;
            if (await store.RevokeKeyAsync(keyId, now, cancellationToken))
            {
                var revoked = await store.FindKeyAsync(keyId, cancellationToken);
                await RecordAsync(config, AdminActions.KeyRevoked(keyId, revoked?.User, revoked?.Team, now, AdminActions.LocalActor("airlock keys revoke")),
                    cancellationToken);
                Console.WriteLine($"Key {keyId} revoked.");
                return 0;
            }
            await Console.Error.WriteLineAsync(await store.FindKeyAsync(keyId, cancellationToken) is null
                ? $"No key with id {keyId}."
                : $"Key {keyId} was already revoked.");
            return 1;
        }));
        return command;
    }

    /// <summary>
    /// Appends an admin record to the configured audit trail (SQLite or PostgreSQL), chained like every other record.
    /// The key change is already stored: a trail that cannot be written is reported (exit 1 from the caller's
    /// exception handling) rather than ignored.
    /// </summary>
    private static async Task RecordAsync(AirlockConfig config, Core.Audit.AuditRecord record, CancellationToken cancellationToken)
    {
        await using var audit = await AuditStores.OpenAsync(config, cancellationToken);
        await audit.Store.AppendAsync([record], cancellationToken);
    }

    private static string Status(KeyRecord key, DateTimeOffset now) =>
        key.RevokedAt is not null ? "revoked" : key.ExpiresAt is { } e && e <= now ? "expired" : "active";
}
