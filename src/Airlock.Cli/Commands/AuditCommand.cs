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
        var kind = new Option<string>("--kind") { Description = "Only records of this kind: request, tool_event, admin or purge" };
        var limit = new Option<int>("--limit") { Description = "Most records to show (newest first)", DefaultValueFactory = _ => 100 };
        var command = new Command("list", "List model calls and Claude Code tool events (metadata only: no prompt content is stored)")
        {
            user, session, since, kind, limit, CommonOptions.Json,
        };
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
            AuditKind? onlyKind = null;
            if (parse.GetValue(kind) is { } kindText)
            {
                if (!AuditKinds.TryParse(kindText, out var parsedKind))
                {
                    await Console.Error.WriteLineAsync($"--kind: '{kindText}' is not one of request, tool_event, admin, purge");
                    return 2;
                }
                onlyKind = parsedKind;
            }
            var config = CommonOptions.Load(parse);
            using var store = await SqliteStore.OpenAsync(config.DataDir, cancellationToken);
            var records = await store.QueryAsync(new AuditQuery
            {
                User = parse.GetValue(user),
                SessionId = parse.GetValue(session),
                Since = from,
                Kind = onlyKind,
                Limit = parse.GetValue(limit),
            }, cancellationToken);
            if (parse.GetValue(CommonOptions.Json))
            {
                Console.WriteLine(JsonSerializer.Serialize(records, JsonOptions));
                return 0;
            }
            // One timeline: model calls show model and upstream, tool events show tool, decision and what it touched.
            var table = new TableWriter("TIME", "KIND", "USER", "SESSION", "OP", "MODEL/TOOL", "UPSTREAM", "STATUS", "OUTCOME", "IN", "OUT", "MS", "DETAIL");
            foreach (var r in records)
            {
                var tool = r.Tool;
                table.Add(r.Time.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), AuditKinds.ToText(r.Kind), r.User,
                    r.SessionId is { Length: > 8 } s ? s[..8] : r.SessionId, tool?.HookEvent ?? r.Operation, tool?.ToolName ?? r.Model, r.Upstream,
                    r.Status.ToString(CultureInfo.InvariantCulture), AuditOutcomes.ToText(r.Outcome),
                    r.InputTokens?.ToString(CultureInfo.InvariantCulture), r.OutputTokens?.ToString(CultureInfo.InvariantCulture),
                    (tool?.DurationMs ?? r.LatencyMs).ToString("0", CultureInfo.InvariantCulture),
                    tool is null ? r.ErrorType : ToolDetail(tool));
            }
            table.Write(Console.Out);
            return 0;
        }));
        return command;
    }

    /// <summary>Decision (when one was given) and what the tool touched, shortened to fit a table cell.</summary>
    internal static string ToolDetail(ToolEventDetails tool)
    {
        var parts = new List<string>(3);
        if (tool.Decision != ToolDecision.None)
        {
            parts.Add(tool.DecisionReason is null ? ToolDecisions.ToText(tool.Decision) : $"{ToolDecisions.ToText(tool.Decision)} ({tool.DecisionReason})");
        }
        if (tool.FilePaths.Count > 0)
        {
            parts.Add(string.Join(',', tool.FilePaths));
        }
        if (tool.Command is not null)
        {
            parts.Add("$ " + tool.Command.ReplaceLineEndings(" "));
        }
        var text = string.Join(' ', parts);
        return text.Length > 80 ? text[..79] + "…" : text;
    }
}
