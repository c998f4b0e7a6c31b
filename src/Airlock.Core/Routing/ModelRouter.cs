using Airlock.Core.Configuration;

namespace Airlock.Core.Routing;

/// <summary>
/// Chooses the upstream for a requested model: the first route (in file order) with a glob that
/// matches the model name. Built once per configuration snapshot; lookups allocate nothing.
/// </summary>
public sealed class ModelRouter
{
    private readonly (string[] Patterns, UpstreamConfig Upstream)[] _routes;
    private readonly UpstreamConfig[][] _candidates;
    private readonly ModelMapping[] _overrides;

    /// <summary>Builds the router from a validated configuration.</summary>
    public ModelRouter(AirlockConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _overrides = config.ModelOverrides.ToArray();
        _routes = config.Routes
            .Select(r => (r.Models.ToArray(), config.FindUpstream(r.Upstream)
                ?? throw new ArgumentException($"route names unknown upstream '{r.Upstream}'", nameof(config))))
            .ToArray();
        _candidates = config.Routes
            .Select(r => r.Fallbacks.Prepend(r.Upstream)
                .Select(name => config.FindUpstream(name) ?? throw new ArgumentException($"route names unknown upstream '{name}'", nameof(config)))
                .ToArray())
            .ToArray();
    }

    /// <summary>
    /// The model name to route and forward for a requested one: the first <c>model_overrides</c> glob that matches
    /// (so Claude Code's default names, <c>claude-sonnet-4-5</c>, <c>claude-opus-4-1</c>, <c>claude-haiku-*</c>, reach
    /// the models the organization runs), else the requested name.
    /// </summary>
    public string Override(string model)
    {
        foreach (var mapping in _overrides)
        {
            if (Glob.IsMatch(mapping.Match, model))
            {
                return mapping.Model;
            }
        }
        return model;
    }

    /// <summary>The upstreams serving <paramref name="model"/> in the order to try them (primary, then fallbacks); empty when no route matches.</summary>
    public IReadOnlyList<UpstreamConfig> ResolveAll(string model)
    {
        for (var i = 0; i < _routes.Length; i++)
        {
            foreach (var pattern in _routes[i].Patterns)
            {
                if (Glob.IsMatch(pattern, model))
                {
                    return _candidates[i];
                }
            }
        }
        return [];
    }

    /// <summary>The upstream serving <paramref name="model"/>, or null when no route matches.</summary>
    public UpstreamConfig? Resolve(string model)
    {
        foreach (var (patterns, upstream) in _routes)
        {
            foreach (var pattern in patterns)
            {
                if (Glob.IsMatch(pattern, model))
                {
                    return upstream;
                }
            }
        }
        return null;
    }

    /// <summary>Model names listed literally (no wildcard) in routes, for <c>GET /v1/models</c>.</summary>
    public IEnumerable<(string Model, UpstreamConfig Upstream)> LiteralModels() =>
        _routes.SelectMany(r => r.Patterns.Where(p => !p.Contains('*', StringComparison.Ordinal) && !p.Contains('?', StringComparison.Ordinal))
            .Select(p => (p, r.Upstream)));

    /// <summary>The upstream of the first catch-all (<c>*</c>) route, if any.</summary>
    public UpstreamConfig? CatchAll() =>
        _routes.FirstOrDefault(r => r.Patterns.Contains("*")).Upstream;
}

/// <summary>Case-sensitive glob with <c>*</c> (any run, including empty) and <c>?</c> (one character). Linear time.</summary>
public static class Glob
{
    /// <summary>True when <paramref name="text"/> matches <paramref name="pattern"/>.</summary>
    public static bool IsMatch(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text) => WildcardPattern.IsMatch(pattern, text, ignoreCase: false);
}
