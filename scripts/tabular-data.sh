#!/bin/sh
# Writes the three tabular data sets of docs/tabular.md as the CSV files a
# user would bring, each with a header, into DIR (default build/tabular):
#
#   penguins.csv       342 rows  species (string: Adelie|Chinstrap|Gentoo), 4 measurements
#   breast_cancer.csv  569 rows  30 measurements, diagnosis (string: benign|malignant), last
#   diabetes.csv       442 rows  10 baseline variables, progression (regression target), last
#
# and, for each, NAME-train.csv and NAME-test.csv: the fixed split both nnc
# and bench/torch_tabular.py use. The rule: the data rows of NAME.csv are
# numbered from 1 in file order; row i is a test row when i % 5 == 0, a
# training row otherwise (floor(rows / 5) test rows). All three files have
# the same header.
#
# The raw files come from Debian packages: python3-sklearn (breast cancer,
# diabetes) and r-cran-palmerpenguins (penguins). An installed package's
# files are read where they are; otherwise the package's .deb is fetched
# with `apt-get download` (verified by apt against the archive's signed
# index; no root needed) and unpacked with `dpkg-deb -x` under DIR/deb,
# without installing it or its dependencies (python3-sklearn would pull in
# ~240 MB of scipy, pythran and Boost headers; r-cran-palmerpenguins, R).
# Set TABULAR_INSTALL=1 to install the packages instead (scripts/deps.sh).
# The output is a pure function of the packages' files: DIR/SOURCES records
# the versions read and DIR/SHA256SUMS the files written (docs/tabular.md
# has the checksums for Debian 12's versions).
set -eu
out=${1:-build/tabular}
export LC_ALL=C
mkdir -p "$out"

have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

if [ "${TABULAR_INSTALL:-0}" = 1 ]; then
    NNC_DEPS="python3-sklearn r-cran-palmerpenguins" "$(dirname "$0")/deps.sh"
fi

# path PACKAGE FILE: prints where FILE (an absolute path inside PACKAGE)
# can be read, fetching and unpacking the package if it is not installed;
# appends "PACKAGE VERSION FILE" to the sources list
path() {
    pkg=$1 file=$2
    if have "$pkg" && [ -f "$file" ]; then
        echo "$pkg $(dpkg-query -W -f='${Version}' "$pkg") $file (installed)" >>"$out/SOURCES.tmp"
        echo "$file"
        return
    fi
    dir=$out/deb/$pkg
    if [ ! -f "$dir/.unpacked" ]; then
        rm -rf "$dir" && mkdir -p "$dir"
        # apt writes as _apt where it can: a directory it may write to
        # spares the "unsandboxed" warning
        chmod 0777 "$dir"
        if ! (cd "$dir" && apt-get download "$pkg" >apt.log 2>&1); then
            if [ "$(id -u)" = 0 ]; then
                apt-get update -qq >/dev/null 2>&1 || true
                (cd "$dir" && apt-get download "$pkg" >apt.log 2>&1) || {
                    cat "$dir/apt.log" >&2
                    echo "tabular-data: cannot download $pkg; try: apt-get install $pkg" >&2
                    exit 1
                }
            else
                cat "$dir/apt.log" >&2
                echo "tabular-data: cannot download $pkg; try: sudo apt-get update, or apt-get install $pkg" >&2
                exit 1
            fi
        fi
        deb=$(ls "$dir"/"$pkg"_*.deb)
        dpkg-deb -x "$deb" "$dir/root"
        dpkg-deb -f "$deb" Version >"$dir/.unpacked"
    fi
    [ -f "$dir/root$file" ] || { echo "tabular-data: $pkg $(cat "$dir/.unpacked") has no $file" >&2; exit 1; }
    echo "$pkg $(cat "$dir/.unpacked") $file (unpacked from the .deb)" >>"$out/SOURCES.tmp"
    echo "$dir/root$file"
}

rm -f "$out/SOURCES.tmp"
SK=/usr/lib/python3/dist-packages/sklearn/datasets/data
penguins_src=$(path r-cran-palmerpenguins /usr/lib/R/site-library/palmerpenguins/extdata/penguins.csv)
cancer_src=$(path python3-sklearn $SK/breast_cancer.csv)
diabetes_x=$(path python3-sklearn $SK/diabetes_data_raw.csv.gz)
diabetes_y=$(path python3-sklearn $SK/diabetes_target.csv.gz)

# write NAME: stdin (a header, then the rows) -> NAME.csv, NAME-train.csv,
# NAME-test.csv, each written whole to a temporary and renamed into place
write() {
    name=$1
    awk -v all="$out/$name.csv.tmp" -v train="$out/$name-train.csv.tmp" -v test="$out/$name-test.csv.tmp" '
        NR == 1 { print > all; print > train; print > test; next }
        { print > all; if ((NR - 1) % 5 == 0) print > test; else print > train }'
    for f in "$name" "$name-train" "$name-test"; do
        mv "$out/$f.csv.tmp" "$out/$f.csv"
    done
}

# Palmer penguins: the species (the label, first as in the original file)
# and the four body measurements; island, sex and year are left out (two of
# them are strings, which a flat input cannot take), and so are the 2 rows
# whose measurements are NA (the 9 others with an NA have it in sex only).
awk -F, '
    NR == 1 {
        if ($0 != "species,island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year") {
            print "penguins.csv: unexpected header: " $0 > "/dev/stderr"; exit 1
        }
        print "species,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g"; next
    }
    NF != 8 { print "penguins.csv:" NR ": expected 8 fields" > "/dev/stderr"; exit 1 }
    $3 == "NA" || $4 == "NA" || $5 == "NA" || $6 == "NA" { next }
    { print $1 "," $3 "," $4 "," $5 "," $6 }' "$penguins_src" | write penguins

# Wisconsin diagnostic breast cancer: sklearn's file starts with a line
# "569,30,malignant,benign" (rows, features, the class names by index),
# then 30 values and the class index per row. Written with a header of
# sklearn's feature names (spaces as _) and the class by its name, last.
awk -F, '
    NR == 1 {
        if (NF != 4 || $2 != 30) { print "breast_cancer.csv: unexpected first line: " $0 > "/dev/stderr"; exit 1 }
        rows = $1; name[0] = $3; name[1] = $4
        h = "mean_radius,mean_texture,mean_perimeter,mean_area,mean_smoothness,mean_compactness,"
        h = h "mean_concavity,mean_concave_points,mean_symmetry,mean_fractal_dimension,"
        h = h "radius_error,texture_error,perimeter_error,area_error,smoothness_error,"
        h = h "compactness_error,concavity_error,concave_points_error,symmetry_error,"
        h = h "fractal_dimension_error,worst_radius,worst_texture,worst_perimeter,worst_area,"
        h = h "worst_smoothness,worst_compactness,worst_concavity,worst_concave_points,"
        h = h "worst_symmetry,worst_fractal_dimension,diagnosis"
        print h; next
    }
    NF != 31 || !($31 in name) { print "breast_cancer.csv:" NR ": unexpected row" > "/dev/stderr"; exit 1 }
    { line = $1; for (i = 2; i <= 30; i++) line = line "," $i; print line "," name[$31] }
    END { if (NR - 1 != rows) { print "breast_cancer.csv: " NR - 1 " rows, the first line says " rows > "/dev/stderr"; exit 1 } }' \
    "$cancer_src" | write breast_cancer

# Diabetes (Efron et al. 2004): the raw, unscaled ten baseline variables
# (space-separated, no header) beside the target file (one value a line,
# written as 1.510000000000000000e+02: integers, written as such here).
zcat "$diabetes_y" >"$out/diabetes_target.tmp"
zcat "$diabetes_x" | awk -v targets="$out/diabetes_target.tmp" '
    BEGIN { print "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6,progression" }
    NF != 10 { print "diabetes_data_raw.csv:" NR ": expected 10 fields" > "/dev/stderr"; exit 1 }
    {
        if ((getline t < targets) <= 0) { print "diabetes_target.csv: fewer rows than the data" > "/dev/stderr"; exit 1 }
        t += 0
        if (t != int(t)) { print "diabetes_target.csv:" NR ": not an integer" > "/dev/stderr"; exit 1 }
        line = $1; for (i = 2; i <= 10; i++) line = line "," $i
        printf "%s,%d\n", line, t
    }
    END { if ((getline t < targets) > 0) { print "diabetes_target.csv: more rows than the data" > "/dev/stderr"; exit 1 } }' \
    | write diabetes
rm -f "$out/diabetes_target.tmp"

sort -u "$out/SOURCES.tmp" >"$out/SOURCES" && rm -f "$out/SOURCES.tmp"
(cd "$out" && sha256sum penguins*.csv breast_cancer*.csv diabetes*.csv >SHA256SUMS)
for n in penguins breast_cancer diabetes; do
    echo "$out/$n.csv: $(($(wc -l <"$out/$n.csv") - 1)) rows ($(($(wc -l <"$out/$n-train.csv") - 1)) train, $(($(wc -l <"$out/$n-test.csv") - 1)) test)"
done
