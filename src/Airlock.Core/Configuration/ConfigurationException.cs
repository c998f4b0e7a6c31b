namespace Airlock.Core.Configuration;

/// <summary>
/// The configuration is invalid. <see cref="Errors"/> lists every problem found (path and reason),
/// not just the first, so one edit-and-restart cycle fixes them all.
/// </summary>
public sealed class ConfigurationException : Exception
{
    /// <summary>Creates the exception from the full list of problems.</summary>
    public ConfigurationException(string source, IReadOnlyList<string> errors)
        : base($"{source}: {errors.Count} configuration error(s):{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", errors))
    {
        Source = source;
        Errors = errors;
    }

    /// <summary>Every problem as <c>path: reason</c>.</summary>
    public IReadOnlyList<string> Errors { get; }
}
