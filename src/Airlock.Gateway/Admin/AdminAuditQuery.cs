using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Microsoft.AspNetCore.Http;

namespace Airlock.Gateway.Admin;

/// <summary>
/// The audit filters of the admin API, read from a query string with the same names and meanings as the options of
/// <c>airlock audit list</c> / <c>export</c> (user, team, session, model, upstream, rule, outcome, kind, since, until),
/// plus paging (<c>limit</c>, <c>to_seq</c>) and the export <c>format</c>. Unknown or repeated parameters are refused,
/// so a typo never silently widens what an auditor reads.
/// </summary>
public static class AdminAuditQuery
{
    /// <summary>Most records one list page returns.</summary>
    public const int MaxPageSize = 1000;

    private static readonly string[] FilterNames = ["user", "team", "session", "model", "upstream", "rule", "outcome", "kind", "since", "until"];

    /// <summary>
    /// Parses the filters (and the extra parameters <paramref name="allowed"/> names). On success
    /// <paramref name="canonical"/> is the filter as a normalized query string, which is what the admin audit record keeps.
    /// </summary>
    public static bool TryParse(IQueryCollection parameters, DateTimeOffset now, IReadOnlyCollection<string> allowed, out AuditQuery query,
        out string canonical, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(allowed);
        query = new AuditQuery();
        canonical = "";
        error = null;
        foreach (var (name, values) in parameters)
        {
            if (!FilterNames.Contains(name, StringComparer.Ordinal) && !allowed.Contains(name))
            {
                error = $"unknown parameter '{Shorten(name)}' (filters: {string.Join(", ", FilterNames)}; also: {string.Join(", ", allowed)})";
                return false;
            }
            if (values.Count != 1 || string.IsNullOrEmpty(values[0]))
            {
                error = $"parameter '{name}' must be given once, with a value";
                return false;
            }
        }
        string? Get(string name) => parameters.TryGetValue(name, out var v) ? v[0] : null;

        if (!TryTime(Get("since"), "since", now, out var since, out error) || !TryTime(Get("until"), "until", now, out var until, out error))
        {
            return false;
        }
        AuditKind? kind = null;
        if (Get("kind") is { } kindText)
        {
            if (!AuditKinds.TryParse(kindText, out var parsed))
            {
                error = $"kind: '{Shorten(kindText)}' is not one of request, tool_event, admin, purge";
                return false;
            }
            kind = parsed;
        }
        AuditOutcome? outcome = null;
        if (Get("outcome") is { } outcomeText)
        {
            try
            {
                outcome = AuditOutcomes.Parse(outcomeText);
            }
            catch (FormatException)
            {
                error = $"outcome: '{Shorten(outcomeText)}' is not one of ok, upstream_error, client_abort, rejected, blocked, interrupted";
                return false;
            }
        }
        var limit = 100;
        if (Get("limit") is { } limitText && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxPageSize))
        {
            error = $"limit: must be a whole number from 1 to {MaxPageSize}";
            return false;
        }
        long? toSequence = null;
        if (Get("to_seq") is { } toText)
        {
            if (!long.TryParse(toText, NumberStyles.None, CultureInfo.InvariantCulture, out var to) || to < 0)
            {
                error = "to_seq: must be a sequence number (0 or more)";
                return false;
            }
            toSequence = to;
        }
        query = new AuditQuery
        {
            User = Get("user"),
            Team = Get("team"),
            SessionId = Get("session"),
            Model = Get("model"),
            Upstream = Get("upstream"),
            FindingRule = Get("rule"),
            Outcome = outcome,
            Kind = kind,
            Since = since,
            Until = until,
            ToSequence = toSequence,
            Limit = limit,
        };
        canonical = Canonical(query, Get("format"));
        return true;
    }

    /// <summary>The filter as <c>name=value&amp;…</c> in a fixed order, times resolved to UTC (what was actually read).</summary>
    public static string Canonical(AuditQuery query, string? format = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        var text = new StringBuilder();
        void Add(string name, string? value)
        {
            if (value is not null)
            {
                text.Append(text.Length == 0 ? "" : "&").Append(name).Append('=').Append(Uri.EscapeDataString(value));
            }
        }
        Add("user", query.User);
        Add("team", query.Team);
        Add("session", query.SessionId);
        Add("model", query.Model);
        Add("upstream", query.Upstream);
        Add("rule", query.FindingRule);
        Add("outcome", query.Outcome is { } o ? AuditOutcomes.ToText(o) : null);
        Add("kind", query.Kind is { } k ? AuditKinds.ToText(k) : null);
        Add("since", query.Since?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
        Add("until", query.Until?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
        Add("to_seq", query.ToSequence?.ToString(CultureInfo.InvariantCulture));
        Add("format", format);
        return text.ToString();
    }

    private static bool TryTime(string? text, string name, DateTimeOffset now, out DateTimeOffset? at, [NotNullWhen(false)] out string? error)
    {
        at = null;
        error = null;
        if (text is null)
        {
            return true;
        }
        // "2h" means two hours ago; an ISO 8601 time (a date has '-') is taken as given, UTC when it has no offset.
        if (!text.Contains('-', StringComparison.Ordinal) && Durations.TryParse(text, out var ago))
        {
            at = now - ago;
            return true;
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
        {
            at = parsed;
            return true;
        }
        error = $"{name}: '{Shorten(text)}' is neither a time (2026-11-24T08:00Z) nor a duration (2h)";
        return false;
    }

    /// <summary>Client text echoed in an error is cut short (an error body is not a mirror).</summary>
    internal static string Shorten(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
