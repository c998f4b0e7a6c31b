using System.Globalization;

namespace Airlock.Core.Configuration;

/// <summary>Parses the short duration syntax used in configuration and on the command line: <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>12h</c>, <c>90d</c>.</summary>
public static class Durations
{
    /// <summary>Parses <paramref name="text"/>; returns false with no exception when it is not a duration.</summary>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        var s = text.Trim();
        (string number, Func<double, TimeSpan> unit) parts = s switch
        {
            _ when s.EndsWith("ms", StringComparison.Ordinal) => (s[..^2], TimeSpan.FromMilliseconds),
            _ when s.EndsWith('s') => (s[..^1], TimeSpan.FromSeconds),
            _ when s.EndsWith('m') => (s[..^1], TimeSpan.FromMinutes),
            _ when s.EndsWith('h') => (s[..^1], TimeSpan.FromHours),
            _ when s.EndsWith('d') => (s[..^1], TimeSpan.FromDays),
            _ => (s, TimeSpan.FromSeconds),
        };
        if (!double.TryParse(parts.number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)
            || amount <= 0 || double.IsInfinity(amount))
        {
            return false;
        }
        try
        {
            value = parts.unit(amount);
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }
}
