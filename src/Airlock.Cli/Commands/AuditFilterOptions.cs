using System.CommandLine;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;

namespace Airlock.Cli.Commands;

/// <summary>The filters <c>audit list</c> and <c>audit export</c> share.</summary>
internal sealed class AuditFilterOptions
{
    private readonly Option<string> _user = new("--user") { Description = "Only this user" };
    private readonly Option<string> _team = new("--team") { Description = "Only this team" };
    private readonly Option<string> _session = new("--session") { Description = "Only this Claude Code session id (one timeline of model calls and tool events)" };
    private readonly Option<string> _model = new("--model") { Description = "Only this requested model" };
    private readonly Option<string> _upstream = new("--upstream") { Description = "Only requests routed to this upstream" };
    private readonly Option<string> _rule = new("--rule") { Description = "Only records with a finding of this rule id" };
    private readonly Option<string> _outcome = new("--outcome") { Description = "Only this outcome: ok, upstream_error, client_abort, rejected, blocked, interrupted" };
    private readonly Option<string> _kind = new("--kind") { Description = "Only records of this kind: request, tool_event, admin or purge" };
    private readonly Option<string> _since = new("--since") { Description = "Only records since a time (ISO 8601, e.g. 2026-11-24T08:00Z) or a duration ago (e.g. 2h)" };
    private readonly Option<string> _until = new("--until") { Description = "Only records before a time (ISO 8601) or a duration ago" };

    public void AddTo(Command command)
    {
        foreach (var option in new[] { _user, _team, _session, _model, _upstream, _rule, _outcome, _kind, _since, _until })
        {
            command.Options.Add(option);
        }
    }

    public bool TryBuild(ParseResult parse, out AuditQuery query, [NotNullWhen(false)] out string? error)
    {
        query = new AuditQuery();
        error = null;
        if (!TryTime(parse.GetValue(_since), "--since", out var since, out error) || !TryTime(parse.GetValue(_until), "--until", out var until, out error))
        {
            return false;
        }
        AuditKind? kind = null;
        if (parse.GetValue(_kind) is { } kindText)
        {
            if (!AuditKinds.TryParse(kindText, out var parsed))
            {
                error = $"--kind: '{kindText}' is not one of request, tool_event, admin, purge";
                return false;
            }
            kind = parsed;
        }
        AuditOutcome? outcome = null;
        if (parse.GetValue(_outcome) is { } outcomeText)
        {
            try
            {
                outcome = AuditOutcomes.Parse(outcomeText);
            }
            catch (FormatException)
            {
                error = $"--outcome: '{outcomeText}' is not one of ok, upstream_error, client_abort, rejected, blocked, interrupted";
                return false;
            }
        }
        query = new AuditQuery
        {
            User = parse.GetValue(_user),
            Team = parse.GetValue(_team),
            SessionId = parse.GetValue(_session),
            Model = parse.GetValue(_model),
            Upstream = parse.GetValue(_upstream),
            FindingRule = parse.GetValue(_rule),
            Outcome = outcome,
            Kind = kind,
            Since = since,
            Until = until,
        };
        return true;
    }

    private static bool TryTime(string? text, string name, out DateTimeOffset? at, [NotNullWhen(false)] out string? error)
    {
        at = null;
        error = null;
        if (text is null)
        {
            return true;
        }
        if (Durations.TryParse(text, out var ago) && !text.Contains('-', StringComparison.Ordinal))
        {
            at = DateTimeOffset.UtcNow - ago;
            return true;
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
        {
            at = parsed;
            return true;
        }
        error = $"{name}: '{text}' is neither a time (2026-11-24T08:00Z) nor a duration (2h)";
        return false;
    }
}
