namespace Airlock.Inspection;

/// <summary>Shannon entropy in bits per character, the measure gitleaks' <c>entropy</c> threshold uses.</summary>
public static class ShannonEntropy
{
    public static double Compute(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty)
        {
            return 0;
        }

        Span<int> ascii = stackalloc int[128];
        Dictionary<char, int>? other = null;
        foreach (var ch in value)
        {
            if (ch < 128)
            {
                ascii[ch]++;
            }
            else
            {
                other ??= [];
                other[ch] = other.GetValueOrDefault(ch) + 1;
            }
        }

        double length = value.Length;
        var entropy = 0.0;
        foreach (var count in ascii)
        {
            if (count > 0)
            {
                var p = count / length;
                entropy -= p * Math.Log2(p);
            }
        }

        if (other is not null)
        {
            foreach (var count in other.Values)
            {
                var p = count / length;
                entropy -= p * Math.Log2(p);
            }
        }

        return entropy;
    }
}
