namespace Airlock.Core.Audit;

/// <summary>
/// Turns an <see cref="AuditQuery"/> into the WHERE clause every audit store runs against the shared row layout
/// (<see cref="AuditRowLayout"/>), so SQLite and PostgreSQL filter the same way. Only the parameter marker and the
/// finding-rule condition (JSON functions differ) are the store's own.
/// </summary>
public static class AuditQuerySql
{
    /// <summary>One bound value: a string (text column) or a long (time or sequence).</summary>
    public readonly record struct Parameter(string Name, object Value);

    /// <summary>
    /// Builds <c>WHERE …</c> (empty when nothing filters). <paramref name="marker"/> prefixes parameter names in the
    /// SQL and in <paramref name="parameters"/> (<c>$</c> for SQLite, <c>@</c> for PostgreSQL);
    /// <paramref name="findingRuleCondition"/> is the condition that a finding of rule <c>{marker}rule</c> exists.
    /// </summary>
    public static string Where(AuditQuery query, char marker, string findingRuleCondition, List<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(parameters);
        var where = new List<string>();
        void Add(object? value, string condition, string name)
        {
            if (value is not null)
            {
                where.Add(condition);
                parameters.Add(new Parameter(marker + name, value));
            }
        }

        Add(query.User, $"user_name = {marker}user", "user");
        Add(query.Team, $"team = {marker}team", "team");
        Add(query.SessionId, $"session_id = {marker}session", "session");
        Add(query.Model, $"model = {marker}model", "model");
        Add(query.Upstream, $"upstream = {marker}upstream", "upstream");
        Add(query.RequestId, $"request_id = {marker}request_id", "request_id");
        Add(query.Kind is { } kind ? AuditKinds.ToText(kind) : null, $"kind = {marker}kind", "kind");
        Add(query.Outcome is { } outcome ? AuditOutcomes.ToText(outcome) : null, $"outcome = {marker}outcome", "outcome");
        Add(query.FindingRule, findingRuleCondition, "rule");
        Add(query.Since?.ToUnixTimeMilliseconds(), $"time >= {marker}since", "since");
        Add(query.Until?.ToUnixTimeMilliseconds(), $"time < {marker}until", "until");
        Add(query.ToSequence, $"seq <= {marker}to", "to");
        return where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "";
    }
}
