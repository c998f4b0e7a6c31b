namespace Airlock.Inspection;

/// <summary>
/// A rule pack failed to load. <see cref="Errors"/> lists every problem found (not just the first), each as
/// <c>"&lt;source&gt;: rule '&lt;id&gt;': &lt;reason&gt;"</c>. Messages never contain matched values, only rule metadata.
/// A pack that fails to load must stop startup (fail closed).
/// </summary>
public sealed class RulePackException : Exception
{
    public RulePackException()
        : this("The rule pack failed to load.")
    {
    }

    public RulePackException(string message)
        : base(message)
    {
        Errors = [message];
    }

    public RulePackException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [message];
    }

    public RulePackException(IReadOnlyList<string> errors)
        : base(BuildMessage(errors))
    {
        Errors = errors;
    }

    /// <summary>Every problem found, one per entry.</summary>
    public IReadOnlyList<string> Errors { get; }

    private static string BuildMessage(IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return $"The rule pack has {errors.Count} error(s):{Environment.NewLine}{string.Join(Environment.NewLine, errors)}";
    }
}
