using System.Text.Json;
using Airlock.Core.Configuration;
using Airlock.Core.Routing;
using Airlock.Gateway.Pipeline;
using Airlock.Protocols.Messages;

namespace Airlock.Gateway.Upstreams;

/// <summary>
/// Beta handling as data: which <c>anthropic-beta</c> flags each upstream kind accepts and which top-level body fields
/// travel with each flag. Rules come from <c>airlock.yaml</c> (<c>betas:</c>, checked first) and from the shipped
/// <c>beta-rules.json</c>; the first rule whose glob matches a flag decides. A dropped flag takes its fields out of the
/// body with it (header and field always travel together); a refused flag fails the request with an error naming it.
/// </summary>
internal sealed class BetaPolicy
{
    private readonly BetaRuleConfig[] _rules;

    public BetaPolicy(IEnumerable<BetaRuleConfig> configured)
    {
        _rules = [.. configured, .. Shipped()];
    }

    /// <summary>True when some rule concerns <paramref name="kind"/> (otherwise the flags pass untouched and nothing is computed).</summary>
    public bool HasRules(UpstreamKind kind) => _rules.Any(r => r.Kind == kind);

    /// <summary>The flags to send and the body fields to remove; throws <see cref="UpstreamRequestException"/> for a refused flag.</summary>
    public (List<string> Betas, List<string> RemoveFields) Apply(UpstreamConfig upstream, IReadOnlyList<string> requested)
    {
        var kept = new List<string>(requested.Count);
        var remove = new List<string>();
        foreach (var beta in requested)
        {
            var rule = _rules.FirstOrDefault(r => r.Kind == upstream.Kind && Glob.IsMatch(r.Beta, beta));
            switch (rule?.Action)
            {
                case "drop":
                    remove.AddRange(rule.Fields);
                    break;
                case "refuse":
                    throw new UpstreamRequestException(GatewayPipeline.Reject(400, AnthropicErrors.InvalidRequest,
                        $"beta '{beta}' cannot be served by upstream '{upstream.Name}' ({upstream.Kind.ToString().ToLowerInvariant()}); " +
                        "remove it (e.g. CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1) or route this model elsewhere", "beta_refused:" + beta));
                default:
                    kept.Add(beta);
                    break;
            }
        }
        return (kept, remove);
    }

    private static List<BetaRuleConfig> Shipped()
    {
        using var stream = typeof(BetaPolicy).Assembly.GetManifestResourceStream("Airlock.Gateway.beta-rules.json")
            ?? throw new InvalidOperationException("the shipped beta rules are missing from the assembly");
        using var document = JsonDocument.Parse(stream);
        var rules = new List<BetaRuleConfig>();
        foreach (var rule in document.RootElement.GetProperty("rules").EnumerateArray())
        {
            rules.Add(new BetaRuleConfig
            {
                Kind = Enum.Parse<UpstreamKind>(rule.GetProperty("kind").GetString()!, ignoreCase: true),
                Beta = rule.GetProperty("beta").GetString()!,
                Action = rule.GetProperty("action").GetString()!,
                Fields = [.. rule.GetProperty("fields").EnumerateArray().Select(f => f.GetString()!)],
            });
        }
        return rules;
    }
}
