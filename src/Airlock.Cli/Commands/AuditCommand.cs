using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.Storage.Sqlite;

namespace Airlock.Cli.Commands;

/// <summary><c>airlock audit list</c>.</summary>
internal static class AuditCommand
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static Command Create()
    {
        var audit = new Command("audit", "Read the audit trail");
        audit.Subcommands.Add(ListCommand());
        return audit;
    }

    private static Command ListCommand()
    {
        var user = new Option<string>("--user") { Description = "Only this user" };
        var session = new Option<string>("--session") { Description = "Only this Claude Code session id" };
        var since = new Option<string>("--since") { Description = "Only records since a time (ISO 8601, e.g. 2026-11-24T08:00Z) or a duration ago (e.g. 2h)" };
        var limit = new Option<int>("--limit") { Description = "Most records to show (newest first)", DefaultValueFactory = _ => 100 };
        var command = new Command("list", "List requests (metadata only: no prompt content is stored)") { user, session, since, limit, CommonOptions.Json };
        command.SetAction((parse, cancellationToken) => CommonOptions.RunAsync(async () =>
        {
            DateTimeOffset? from = null;
            if (parse.GetValue(since) is { } text)
            {
                if (Durations.TryParse(text, out var ago) && !text.Contains('-', StringComparison.Ordinal))
                {
                    from = DateTimeOffset.UtcNow - ago;
                }
                else if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
                {
                    from = at;
                }
                else
                {
                    await Console.Error.WriteLineAsync($"--since: '{text}' is neither a time (2026-11-24T08:00Z) nor a duration (2h)");
                    return 2;
                }
            }
            var config = CommonOptions.Load(parse);
            using var store = await SqliteStore.OpenAsync(config.DataDir, cancellationToken);
            var records = await store.QueryAsync(new AuditQuery
            {
                User = parse.GetValue(user),
                SessionId = parse.GetValue(session),
                Since = from,
                Limit = parse.GetValue(limit),
            }, cancellationToken);
            if (parse.GetValue(CommonOptions.Json))
            {
                Console.WriteLine(JsonSerializer.Serialize(records, JsonOptions));
                return 0;
            }
            var table = new TableWriter("TIME", "USER", "SESSION", "OP", "MODEL", "UPSTREAM", "STATUS", "OUTCOME", "IN", "OUT", "MS", "ERROR");
            foreach (var r in records)
            {
                table.Add(r.Time.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), r.User,
                    r.SessionId is { Length: > 8 } s ? s[..8] : r.SessionId, r.Operation, r.Model, r.Upstream,
                    r.Status.ToString(CultureInfo.InvariantCulture), AuditOutcomes.ToText(r.Outcome),
                    r.InputTokens?.ToString(CultureInfo.InvariantCulture), r.OutputTokens?.ToString(CultureInfo.InvariantCulture),
                    r.LatencyMs.ToString("0", CultureInfo.InvariantCulture), r.ErrorType);
            }
            table.Write(Console.Out);
            return 0;
        }));
        return command;
    }
}
