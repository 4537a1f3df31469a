# Writes the seven tables of the adaptive-default benchmark (issue 13) from Debian's R packages:
#   apt-get install r-base-core r-cran-mlbench r-cran-kernlab r-cran-modeldata
#   mkdir -p dsout && Rscript benchmarks/data/export_r_sets.R && for f in dsout/*.csv; do gzip -9 -n -c $f > benchmarks/data/$(basename $f).gz; done
# Each: the data set's columns (0/1 factors as integers, names made syntactic), then 'label'.
library(mlbench); library(kernlab); library(modeldata)
w <- function(d, lab, file) { y <- d[[lab]]; d[[lab]] <- NULL;
  for (c in names(d)) if (is.factor(d[[c]]) && all(levels(d[[c]]) %in% c("0","1"))) d[[c]] <- as.integer(as.character(d[[c]]))
  names(d) <- make.names(names(d)); d$label <- as.character(y); write.csv(d, file, row.names=FALSE) }
data(LetterRecognition); w(LetterRecognition, "lettr", "dsout/letter.csv")
data(Satellite); w(Satellite, "classes", "dsout/satellite.csv")
data(DNA); w(DNA, "Class", "dsout/dna.csv")
data(Vehicle); w(Vehicle, "Class", "dsout/vehicle.csv")
data(Vowel); w(Vowel, "Class", "dsout/vowel.csv")
data(ticdata); w(ticdata, "CARAVAN", "dsout/ticdata.csv")
data(lending_club); w(lending_club, "Class", "dsout/lending_club.csv")
